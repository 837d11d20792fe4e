// comlink ships types for its node adapter as node-adapter.d.ts, which TypeScript doesn't pair
// with the .mjs entry we import; point it at them.
declare module 'comlink/dist/esm/node-adapter.mjs' {
  export { default } from 'comlink/dist/esm/node-adapter'
}
