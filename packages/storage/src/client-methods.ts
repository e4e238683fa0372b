/** What both stores' API-client modules share. */

/** The timeline detail of an email failed because its client was revoked. */
export const CLIENT_REVOKED_DETAIL = 'client revoked';
