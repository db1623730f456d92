/**
 * `edit_file`'s rule: `oldText` must occur exactly once, so the model cannot change a place it did not mean
 * (the same line often occurs twice) and learns to quote enough context. The text is replaced literally: no
 * regular expressions and no `$&` patterns.
 */
export function applyExactEdit(content: string, oldText: string, newText: string): { ok: true; content: string } | { ok: false; error: string } {
  if (oldText === '') return { ok: false, error: 'old_text is empty; to create or overwrite a file use write_file' };
  const first = content.indexOf(oldText);
  if (first === -1) {
    return { ok: false, error: 'old_text was not found in the file; read the file again and copy the text exactly, including whitespace' };
  }
  const count = countOccurrences(content, oldText);
  if (count > 1) {
    return { ok: false, error: `old_text occurs ${count} times in the file; include more surrounding lines so that it matches exactly once` };
  }
  return { ok: true, content: content.slice(0, first) + newText + content.slice(first + oldText.length) };
}

/** Non-overlapping occurrences, as a replacement would see them. */
function countOccurrences(content: string, needle: string): number {
  let count = 0;
  for (let at = content.indexOf(needle); at !== -1; at = content.indexOf(needle, at + needle.length)) count++;
  return count;
}
