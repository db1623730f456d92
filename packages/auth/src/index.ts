export { parseApiKeys, hashApiKey, ApiKeysError, TENANT_NAME, ADMIN_TENANT, ANONYMOUS_TENANT, type ApiKeyEntry } from './api-keys.js';
export { Authenticator, type AuthenticatorConfig, type Principal } from './authenticator.js';
export { presentedCredential, type PresentedCredential } from './authorization-header.js';
