/**
 * Text measurement for layouts. Layouts are pure (they run in Node for tests and snapshots), so
 * they cannot ask the browser for a text's width: this estimates it from per-character widths of
 * a system sans-serif (in em), like Observable Plot's defaultWidth. It errs wide, so a label the
 * layout places without overlap does not overlap on screen.
 */

// Widths in thousandths of an em for ASCII 32–126 (Helvetica/Arial-like metrics, rounded up).
const ASCII = [
  280, 280, 360, 560, 560, 890, 670, 200, 340, 340, 390, 590, 280, 340, 280, 280, 560, 560, 560, 560, 560, 560, 560,
  560, 560, 560, 280, 280, 590, 590, 590, 560, 1020, 670, 670, 720, 720, 670, 610, 780, 720, 280, 500, 670, 560, 830,
  720, 780, 670, 780, 720, 670, 610, 720, 670, 940, 670, 670, 610, 280, 280, 280, 470, 560, 340, 560, 560, 500, 560,
  560, 280, 560, 560, 230, 230, 500, 230, 830, 560, 560, 560, 560, 340, 500, 280, 560, 500, 720, 500, 500, 500, 340,
  260, 340, 590,
]

/** Estimated width in px of `text` at `fontSize` px. Wide scripts (CJK) count 1 em per character. */
export function textWidth(text: string, fontSize = 12): number {
  let em = 0
  for (const ch of text) {
    const c = ch.codePointAt(0) ?? 0
    if (c >= 32 && c <= 126) em += ASCII[c - 32]! / 1000
    else if (c >= 0x1100)
      em += 1 // CJK, emoji and other wide characters
    else em += 0.6
  }
  return em * fontSize
}

/** The line height used for a label at `fontSize` px (what neighbours must keep apart). */
export const lineHeight = (fontSize = 12): number => Math.ceil(fontSize * 1.25)

/** `text` cut to at most `width` px with an ellipsis (whole characters). */
export function fitText(text: string, width: number, fontSize = 12): string {
  if (textWidth(text, fontSize) <= width) return text
  const chars = [...text]
  const ell = textWidth('…', fontSize)
  let w = 0
  let n = 0
  for (; n < chars.length; n++) {
    const cw = textWidth(chars[n]!, fontSize)
    if (w + cw + ell > width) break
    w += cw
  }
  return n === 0 ? '…' : `${chars.slice(0, n).join('')}…`
}

/**
 * Word-wraps `text` into at most `maxLines` lines of at most `width` px; null when it does not
 * fit (a word is too wide, or more lines are needed).
 */
export function wrapText(text: string, width: number, maxLines: number, fontSize = 12): string[] | null {
  const words = text.split(/\s+/).filter(Boolean)
  const lines: string[] = []
  let cur = ''
  for (const w of words) {
    const next = cur ? `${cur} ${w}` : w
    if (textWidth(next, fontSize) <= width) cur = next
    else {
      if (!cur || textWidth(w, fontSize) > width) return null
      lines.push(cur)
      cur = w
    }
  }
  if (cur) lines.push(cur)
  return lines.length <= maxLines ? lines : null
}
