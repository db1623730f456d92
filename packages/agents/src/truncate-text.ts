/** Cuts `text` to at most `maxChars` characters, marking the cut so a reader knows there was more. */
export function truncateText(text: string, maxChars: number): string {
  if (text.length <= maxChars) return text;
  const marker = `… [${text.length - maxChars} more chars]`;
  return text.slice(0, Math.max(0, maxChars - marker.length)) + marker;
}
