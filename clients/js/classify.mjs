// Classify raw 16 kHz float32 clips with an hf-ser ONNX export, as a transformers.js app does, entirely offline.
//   node classify.mjs MODEL_DIR [fp32|q8] CLIP.f32 ...   ->  one JSON line per clip: [{label, score}, ...]
import { readFileSync } from "node:fs";
import { basename, dirname, resolve } from "node:path";
import { env, pipeline } from "@huggingface/transformers";

const [model, dtype = "fp32", ...clips] = process.argv.slice(2);
if (!model || clips.length === 0) {
  console.error("usage: node classify.mjs MODEL_DIR [fp32|q8] CLIP.f32 ...");
  process.exit(2);
}
env.allowRemoteModels = false; // nothing from the Hub: the export folder is the whole model
env.localModelPath = dirname(resolve(model));
const classify = await pipeline("audio-classification", basename(resolve(model)), { dtype });
const labels = Object.keys(classify.model.config.id2label).length;
for (const clip of clips) {
  const bytes = readFileSync(clip);
  const audio = new Float32Array(bytes.buffer, bytes.byteOffset, bytes.byteLength / 4);
  console.log(JSON.stringify(await classify(audio, { top_k: labels })));
}
