/** The timeline detail of an email failed because its client was revoked, written by both stores. */
export const CLIENT_REVOKED_DETAIL = 'client revoked';
