export * from './tiny-backspace-client.js';
