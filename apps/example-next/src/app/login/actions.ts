'use server';

import type { SendActionState } from '@sesame/nextjs';
import { auth } from '@/lib/session-store';

/** The Server Action variant of send: the email form works even before JavaScript loads. */
export async function sendPasswordless(previous: SendActionState, form: FormData): Promise<SendActionState> {
  return auth.sendAction(previous, form);
}
