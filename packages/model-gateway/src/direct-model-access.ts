import { AppError, type ModelAccess, type ModelAccessGrant, type ModelEndpoint, type ModelProvider } from '@tinyb/core';

/**
 * The weaker mode, for an operator who chose it (`ALLOW_MODEL_KEY_IN_SANDBOX=true`): every attempt gets the
 * real key and the provider's own URL, so the agent can read the key. Nothing is metered or revoked here;
 * the agents' own usage reports and the job's abort signal are all there is.
 */
export class DirectModelAccess implements ModelAccess {
  constructor(private readonly endpoints: Partial<Record<ModelProvider, ModelEndpoint>>) {}

  async grant(): Promise<ModelAccessGrant> {
    return {
      endpoint: (provider) => {
        const endpoint = this.endpoints[provider];
        if (!endpoint) throw new AppError('unknown_agent', `no credentials are configured for the ${provider} model API`);
        return endpoint;
      },
      revoke: async () => undefined,
    };
  }
}
