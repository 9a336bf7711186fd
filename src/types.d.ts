declare module "*.safetensors" {
  const bytes: ArrayBuffer;
  export default bytes;
}
