/** Binary websocket frames of ComfyUI (all integers big-endian uint32). */
export type ComfyBinaryFrame =
  | { kind: 'image'; mime: 'image/jpeg' | 'image/png'; image: Buffer; nodeId?: string; promptId?: string }
  | { kind: 'text'; nodeId: string; text: string };

const FORMATS: Record<number, 'image/jpeg' | 'image/png'> = { 1: 'image/jpeg', 2: 'image/png' };

/**
 * Type 1 (PREVIEW_IMAGE): format (1 JPEG, 2 PNG), then the image. Type 4 (PREVIEW_IMAGE_WITH_METADATA,
 * after the client announced supports_preview_metadata): JSON length, JSON {node_id, prompt_id,
 * image_type, ...}, then the image. Type 3 (TEXT): node-id length, node id, UTF-8 text.
 */
export function parseComfyFrame(frame: Buffer): ComfyBinaryFrame | null {
  if (frame.length < 8) return null;
  const type = frame.readUInt32BE(0);
  if (type === 1) {
    const mime = FORMATS[frame.readUInt32BE(4)];
    return mime ? { kind: 'image', mime, image: frame.subarray(8) } : null;
  }
  if (type === 4) {
    const length = frame.readUInt32BE(4);
    if (8 + length > frame.length) return null;
    const meta = JSON.parse(frame.toString('utf8', 8, 8 + length)) as { node_id?: string; prompt_id?: string; image_type?: string };
    const mime = meta.image_type === 'image/jpeg' ? 'image/jpeg' : 'image/png';
    return { kind: 'image', mime, image: frame.subarray(8 + length), ...(meta.node_id ? { nodeId: meta.node_id } : {}), ...(meta.prompt_id ? { promptId: meta.prompt_id } : {}) };
  }
  if (type === 3) {
    const length = frame.readUInt32BE(4);
    if (8 + length > frame.length) return null;
    return { kind: 'text', nodeId: frame.toString('utf8', 8, 8 + length), text: frame.toString('utf8', 8 + length) };
  }
  return null;
}

/** The inverse, for simulators and tests. */
export function comfyImageFrame(image: Buffer, mime: 'image/jpeg' | 'image/png', meta?: { node_id: string; prompt_id: string }): Buffer {
  const head = Buffer.alloc(8);
  if (!meta) {
    head.writeUInt32BE(1, 0);
    head.writeUInt32BE(mime === 'image/jpeg' ? 1 : 2, 4);
    return Buffer.concat([head, image]);
  }
  const json = Buffer.from(JSON.stringify({ ...meta, display_node_id: meta.node_id, parent_node_id: null, real_node_id: meta.node_id, image_type: mime }));
  head.writeUInt32BE(4, 0);
  head.writeUInt32BE(json.length, 4);
  return Buffer.concat([head, json, image]);
}
