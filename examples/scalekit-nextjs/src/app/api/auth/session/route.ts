import { NextResponse } from 'next/server';
import { readSessionEmail } from '@/lib/session-store';

export async function GET() {
  const email = await readSessionEmail();
  if (!email) return NextResponse.json({ email: null }, { status: 401 });
  return NextResponse.json({ email });
}
