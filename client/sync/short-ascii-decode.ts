import { utf8TextDecoder } from 'lib0/string'

/** Strings up to this many bytes are tried as ASCII in JavaScript before the native decoder. */
export const SHORT_STRING_BYTES = 64

const patched = new WeakSet<TextDecoder>()

/**
 * Plain: makes `decoder` (lib0's shared UTF-8 decoder by default, which Yjs reads every string of
 * an update with) decode short ASCII byte strings in JavaScript, and everything else natively as
 * before. Chromium's TextDecoder.decode costs ~1 µs a call from JavaScript (a call into Blink):
 * the first sync of a 5,000-label workspace decodes ~130,000 small strings (map keys, ids, names),
 * and that was ~0.1–0.3 s of the page's load (issue 9, "Scale"). For bytes below 0x80, UTF-8 and
 * char codes are the same, so the result is identical; a non-ASCII byte, a longer string, a
 * streaming call or anything but a Uint8Array goes to the native decoder. lib0 keeps the decoder
 * in a module variable, so its method is replaced on the instance. Returns false when there is
 * no decoder to speed up (lib0 decodes without TextDecoder then).
 */
export function installShortAsciiDecode(decoder: TextDecoder | null = utf8TextDecoder): boolean {
  if (!decoder) return false
  if (patched.has(decoder)) return true
  const native = decoder.decode.bind(decoder)
  decoder.decode = (input?: AllowSharedBufferSource, options?: TextDecodeOptions): string => {
    if (options !== undefined || !(input instanceof Uint8Array) || input.length > SHORT_STRING_BYTES)
      return native(input, options)
    for (let i = 0; i < input.length; i++) if ((input[i] as number) > 0x7f) return native(input)
    return String.fromCharCode.apply(null, input as unknown as number[])
  }
  patched.add(decoder)
  return true
}
