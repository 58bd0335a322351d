/**
 * A strict reader for the CBOR (RFC 8949) that WebAuthn sends: attestation
 * objects and COSE keys, which CTAP2 encodes canonically with definite
 * lengths. Integers (up to 32 bits), byte and text strings, arrays, maps with
 * integer or text keys (returned as an object with string keys, "-2" for -2),
 * false, true and null. Everything else (indefinite lengths, tags, floats,
 * 64-bit lengths, duplicate keys, nesting deeper than `maxDepth`, truncation)
 * throws. Written here rather than imported to keep the Worker under its
 * bundle budget (a full CBOR library costs about 4 KiB gzipped).
 */
export function decodeCbor(bytes: Uint8Array, maxDepth = 4): [value: unknown, size: number] {
  let at = 0;
  const byte = () => {
    const b = bytes[at++];
    if (b === undefined) throw new Error("CBOR truncated");
    return b;
  };
  const length = (info: number) => {
    if (info < 24) return info;
    const size = { 24: 1, 25: 2, 26: 4 }[info];
    if (!size) throw new Error("CBOR not supported");
    let n = 0;
    for (let i = 0; i < size; i++) n = n * 256 + byte();
    return n;
  };
  const take = (n: number) => {
    if (at + n > bytes.length) throw new Error("CBOR truncated");
    at += n;
    return bytes.slice(at - n, at);
  };
  const item = (depth: number): unknown => {
    const initial = byte();
    const major = initial >> 5;
    const info = initial & 0x1f;
    if (major === 7) {
      if (info === 20) return false;
      if (info === 21) return true;
      if (info === 22) return null;
      throw new Error("CBOR not supported");
    }
    const n = length(info);
    if (major === 0) return n;
    if (major === 1) return -1 - n;
    if (major === 2) return take(n);
    if (major === 3) return new TextDecoder("utf-8", { fatal: true, ignoreBOM: false }).decode(take(n));
    if (depth >= maxDepth) throw new Error("CBOR too deep");
    if (major === 4) return Array.from({ length: n }, () => item(depth + 1));
    if (major === 5) {
      const map: Record<string, unknown> = {};
      for (let i = 0; i < n; i++) {
        const key = item(depth + 1);
        if (typeof key !== "number" && typeof key !== "string") throw new Error("CBOR not supported");
        if (Object.hasOwn(map, String(key))) throw new Error("CBOR duplicate key");
        map[String(key)] = item(depth + 1);
      }
      return map;
    }
    throw new Error("CBOR not supported");
  };
  return [item(0), at];
}

/** `decodeCbor` of a whole buffer: bytes left over throw. */
export function decodeCborExactly(bytes: Uint8Array, maxDepth = 4): unknown {
  const [value, size] = decodeCbor(bytes, maxDepth);
  if (size !== bytes.length) throw new Error("CBOR has bytes left over");
  return value;
}
