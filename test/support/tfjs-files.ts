/** TF.js models as files, for the interop tests (test/tfjs-interop.test.ts, test/batchnorm-tfjs.test.ts). */
import * as tf from '@tensorflow/tfjs';

/** A tfjs model as model.json (object) and weights, as tfjs itself saves it. */
export async function toFiles(model: tf.LayersModel): Promise<{ modelJson: object; weightsBin: Uint8Array }> {
  let artifacts: tf.io.ModelArtifacts | undefined;
  await model.save(tf.io.withSaveHandler((a) => {
    artifacts = a;
    return Promise.resolve({ modelArtifactsInfo: { dateSaved: new Date(), modelTopologyType: 'JSON' } });
  }));
  const data = tf.io.CompositeArrayBuffer.join(artifacts!.weightData);
  return {
    modelJson: { format: 'layers-model', modelTopology: artifacts!.modelTopology, weightsManifest: [{ paths: ['weights.bin'], weights: artifacts!.weightSpecs }] },
    weightsBin: new Uint8Array(data),
  };
}
