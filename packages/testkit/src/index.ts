// Entry points are per file: import '@tinyb/testkit/<file>'.
export {};
