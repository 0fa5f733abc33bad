// Files imported `with { type: "file" }` resolve to a path Bun.file() can read, also inside a compiled binary.
declare module "swagger-ui-dist/swagger-ui-bundle.js" {
  const path: string;
  export default path;
}
declare module "swagger-ui-dist/swagger-ui.css" {
  const path: string;
  export default path;
}
// The store's Lua, imported `with { type: "text" }`: the script's source, also inside a compiled binary.
declare module "*.lua" {
  const source: string;
  export default source;
}
