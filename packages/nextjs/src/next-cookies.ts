/** Next.js's cookie store (`next/headers`) behind the kit's `Jar`, for the Server Action and the session readers. */
import type { Jar } from './http.js';

export async function nextJar(): Promise<Jar> {
  // Imported lazily: route handlers never need `next/headers`, so they run and test without Next.js.
  const { cookies } = await import('next/headers.js');
  const store = await cookies();
  return {
    get: (name) => store.get(name)?.value,
    set: (name, value, options) => {
      // Server Components may read but not write cookies; only Actions and handlers call `set`.
      store.set(name, value, {
        httpOnly: options.httpOnly,
        secure: options.secure,
        sameSite: options.sameSite === 'Lax' ? 'lax' : options.sameSite === 'Strict' ? 'strict' : 'none',
        path: options.path,
        maxAge: options.maxAge,
        ...(options.domain === undefined ? {} : { domain: options.domain }),
      });
    },
  };
}
