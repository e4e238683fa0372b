/** The client-credentials token, as an app's server asks a running Sesame for it. */

export interface ClientCredentials {
  readonly client_id: string;
  readonly client_secret: string;
}

function postToken(base: string, client: ClientCredentials): Promise<Response> {
  return fetch(`${base}/oauth/token`, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({ grant_type: 'client_credentials', client_id: client.client_id, client_secret: client.client_secret }),
  });
}

/** POST /oauth/token: the status and, when it is 200, the access token. */
export async function requestAccessToken(base: string, client: ClientCredentials): Promise<{ status: number; token: string | undefined }> {
  const response = await postToken(base, client);
  const body = (await response.json()) as { access_token?: string };
  return { status: response.status, token: body.access_token };
}

/** The access token of `client`; throws, with the answer, unless the status is 200. */
export async function fetchAccessToken(base: string, client: ClientCredentials): Promise<string> {
  const response = await postToken(base, client);
  if (response.status !== 200) throw new Error(`token: ${response.status} ${await response.text()}`);
  return ((await response.json()) as { access_token: string }).access_token;
}
