/** The digits file's URL, from digits-plugin.ts. */
declare module 'virtual:mnist-digits' {
  const url: string;
  export default url;
}
