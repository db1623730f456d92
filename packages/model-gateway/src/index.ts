export {
  ModelGateway,
  type ModelGatewayOptions,
  type ModelGatewayListenOptions,
  type ModelGatewayAddresses,
  type AnthropicUpstream,
  type GeminiUpstream,
  type OpenAiUpstream,
} from './model-gateway.js';
export { DirectModelAccess } from './direct-model-access.js';
