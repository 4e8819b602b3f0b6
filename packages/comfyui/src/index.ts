// Two products: the bridge (@clip-agiqa/comfyui/bridge) and the workflow runner (@clip-agiqa/comfyui/runner).
export * from './bridge/index.js';
export * from './runner/index.js';
