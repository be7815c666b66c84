/** The parts of the `mnist` package (CommonJS, untyped) that the CLI reads. */
declare module 'mnist' {
  interface Digit {
    /** This digit's images, 784 pixels each in [0, 1], one after another. */
    raw: number[];
    /** How many images of this digit the package has. */
    length: number;
  }
  const mnist: { readonly [digit: number]: Digit };
  export default mnist;
}
