export { handleGitHubTrigger, jobData, triggeredJobId, type GitHubTriggerDeps, type TriggerOutcome, type TriggerSettings } from './handle-github-trigger.js';
export { followTriggeredJob, type FollowDeps, type FollowOutcome } from './follow-triggered-job.js';
export { finishedComment, queuedComment, statusCommentMarker, type StatusLinks } from './status-comment.js';
