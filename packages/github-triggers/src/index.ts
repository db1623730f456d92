export {
  GitHubWebhookHandler,
  type GitHubTriggerInbox,
  type GitHubWebhookHandlerDeps,
  type WebhookRequest,
  type WebhookResponse,
} from './github-webhook-handler.js';
export {
  commandPrompt,
  toGitHubTrigger,
  type TriggerDecision,
  type TriggerRules,
  type WebhookDelivery,
} from './to-github-trigger.js';
