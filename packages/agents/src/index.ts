export { ClaudeCodeAgent, type ClaudeCodeAgentOptions } from './claude-code/claude-code-agent.js';
export { resolveClaudeExecutable } from './claude-code/resolve-claude-executable.js';
export { createClaudeLineMapper, toolInputView } from './claude-code/map-stream-json-line.js';
export { ClaudeStreamLine } from './claude-code/stream-json-line.js';
export { NdjsonLines } from './ndjson-lines.js';
export { runNdjsonCli, type RunNdjsonCliInput, type RunNdjsonCliResult } from './run-ndjson-cli.js';
export { truncateText } from './truncate-text.js';
export { repoRelativePath } from './repo-relative-path.js';
export { OpenAiCompatibleAgent, type OpenAiCompatibleAgentOptions } from './openai/openai-compatible-agent.js';
