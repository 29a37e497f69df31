/** Thrown by the codec for malformed wire input or invalid encoder input. */
export class CodecError extends Error {
  override readonly name = 'CodecError';
}
