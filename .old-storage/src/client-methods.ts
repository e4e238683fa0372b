/** What both stores' client, admin and admin-session modules provide, and what they share. */
import type { Store } from '@sesame/core';

export type ClientMethods = Pick<
  Store,
  | 'createApiClient'
  | 'findApiClient'
  | 'listApiClients'
  | 'revokeApiClient'
  | 'updateApiClientSecret'
  | 'updateApiClientSendLimit'
  | 'touchApiClient'
  | 'addAdmin'
  | 'findAdmin'
  | 'listAdmins'
  | 'removeAdmin'
  | 'createAdminSession'
  | 'findAdminSession'
  | 'deleteAdminSession'
>;

/** The timeline detail of an email failed because its client was revoked. */
export const CLIENT_REVOKED_DETAIL = 'client revoked';
