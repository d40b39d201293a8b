/**
 * Splits text into passages of about `size` characters on paragraph boundaries (a paragraph
 * longer than that is split at sentences, then words); each passage after the first starts with
 * the last ~`overlap` characters of the one before, so a thought cut at the border is found.
 */
export function chunkText(text: string, size = 800, overlap = 120): string[] {
  const paragraphs = text
    .replace(/\r\n?/g, '\n')
    .split(/\n[ \t]*\n/)
    .map((p) => p.trim())
    .filter((p) => p !== '');
  const pieces = paragraphs.flatMap((p) => (p.length <= size ? [p] : splitLong(p, size)));
  const chunks: string[] = [];
  let current = '';
  for (const piece of pieces) {
    if (current !== '' && current.length + 2 + piece.length > size) {
      chunks.push(current);
      current = tail(current, overlap);
    }
    current = current === '' ? piece : `${current}\n\n${piece}`;
  }
  if (current !== '') chunks.push(current);
  return chunks;
}

function splitLong(paragraph: string, size: number): string[] {
  const parts: string[] = [];
  let current = '';
  for (const sentence of paragraph.split(/(?<=[.!?。！？])\s+/)) {
    for (const word of sentence.length <= size ? [sentence] : hardSplit(sentence, size)) {
      if (current !== '' && current.length + 1 + word.length > size) {
        parts.push(current);
        current = '';
      }
      current = current === '' ? word : `${current} ${word}`;
    }
  }
  if (current !== '') parts.push(current);
  return parts;
}

/** A sentence longer than `size`: its words, and any word longer than `size` cut into pieces. */
function hardSplit(sentence: string, size: number): string[] {
  return sentence
    .split(/\s+/)
    .flatMap((word) => (word.length <= size ? [word] : (word.match(new RegExp(`[^]{1,${size}}`, 'gu')) ?? [])));
}

/** The last ~`length` characters of a passage, from a word start; nothing for a short passage. */
function tail(text: string, length: number): string {
  if (text.length <= length * 2) return '';
  const cut = text.slice(-length);
  const space = cut.search(/\s/);
  return space === -1 ? '' : cut.slice(space).trim();
}
