import { describe, expect, it, vi } from 'vitest'
import * as Y from 'yjs'
import { utf8TextDecoder } from 'lib0/string'
import { installShortAsciiDecode, SHORT_STRING_BYTES } from '../../client/sync/short-ascii-decode.ts'

const enc = new TextEncoder()

describe("lib0's UTF-8 decoder with short ASCII strings decoded in JavaScript (issue 9)", () => {
  it('decodes exactly as the native decoder: ASCII, non-ASCII, empty, long, a BOM, views into a buffer', () => {
    const fast = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true })
    const plain = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true })
    expect(installShortAsciiDecode(fast)).toBe(true)
    const samples = [
      '',
      'a',
      'displayName',
      'label_0042',
      'Grüße',
      '客户',
      '😀 emoji',
      '\uFEFFbom',
      'x'.repeat(SHORT_STRING_BYTES),
      'y'.repeat(SHORT_STRING_BYTES + 1),
      `${'z'.repeat(60)}é`,
      '\u0000\u007f',
    ]
    for (const s of samples) expect(fast.decode(enc.encode(s))).toBe(plain.decode(enc.encode(s)))
    const buf = enc.encode('__hello world__')
    expect(fast.decode(buf.subarray(2, 13))).toBe('hello world')
    // Invalid UTF-8 still throws (fatal), as before.
    expect(() => fast.decode(new Uint8Array([0x61, 0xff]))).toThrow()
    // Streaming and other inputs go to the native decoder.
    expect(fast.decode(enc.encode('ab').buffer)).toBe('ab')
    expect(fast.decode(enc.encode('ab'), { stream: false })).toBe('ab')
    expect(fast.decode()).toBe('')
  })

  it("takes lib0's shared decoder (the one Yjs reads updates with) off the native path for short ASCII", () => {
    const doc = new Y.Doc()
    const labels = doc.getMap('labels')
    doc.transact(() => {
      for (let i = 0; i < 200; i++) {
        const m = new Y.Map<unknown>()
        labels.set(`l_${i}`, m)
        m.set('name', `label_${i}`)
        m.set('displayName', i % 2 ? `Label ${i}` : `Étiquette ${i}`)
        m.set('rule', { method: 'import', note: 'x'.repeat(100) })
      }
    })
    const update = Y.encodeStateAsUpdate(doc)
    const native = vi.spyOn(TextDecoder.prototype, 'decode') // what the decoder falls back to
    const decodeCalls = () => {
      native.mockClear()
      const copy = new Y.Doc()
      Y.applyUpdate(copy, update)
      expect(copy.getMap('labels').toJSON()).toEqual(labels.toJSON())
      return native.mock.calls.length
    }
    const before = decodeCalls()
    expect(before).toBeGreaterThan(1500) // every key and string value, 200 labels
    expect(installShortAsciiDecode()).toBe(true)
    expect(installShortAsciiDecode()).toBe(true) // once
    // Only the 100 non-ASCII display names and the 200 long notes still go to the native decoder.
    expect(decodeCalls()).toBe(300)
    expect(utf8TextDecoder).not.toBeNull()
  })
})
