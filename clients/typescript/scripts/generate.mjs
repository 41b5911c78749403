// Writes src/schema.ts (or the file named by JOBLEDGER_SCHEMA_OUT) from the /openapi.json of the
// service at JOBLEDGER_URL: `JOBLEDGER_URL=http://127.0.0.1:8080 npm run generate`.
//
// openapi-typescript, with one change to what its command line would write: the document's
// recursive `Json` schema becomes the alias `JsonValue`. Written inline, as openapi-typescript
// writes it (`Json: ... | components["schemas"]["Json"][] | {...}`), TypeScript refuses it as
// circular (TS2502, openapi-ts/openapi-typescript#1603), and in a .d.ts under skipLibCheck it
// would silently be `any`, so payloads and results would go unchecked.
import { writeFile } from "node:fs/promises";
import openapiTS, { astToString, COMMENT_HEADER } from "openapi-typescript";
import ts from "typescript";

const base = process.env.JOBLEDGER_URL;
if (!base) throw new Error("JOBLEDGER_URL is not set: the URL of a running jobledger service");
const output = process.env.JOBLEDGER_SCHEMA_OUT || "src/schema.ts";

const JSON_VALUE = `
/** Any JSON value: the document's \`Json\` schema (64-bit integers, no NUL characters). */
export type JsonValue = null | boolean | number | string | JsonValue[] | { [key: string]: JsonValue };
`;

const ast = await openapiTS(new URL("openapi.json", base.replace(/\/*$/, "/")), {
  defaultNonNullable: false, // a field with a default may be left out of a body (and an answer leaves out unset ones)
  inject: JSON_VALUE,
  transform: (_schema, { path }) =>
    path === "#/components/schemas/Json" ? ts.factory.createTypeReferenceNode("JsonValue") : undefined,
});
await writeFile(output, COMMENT_HEADER + astToString(ast));
console.error(`${output} written from ${base}/openapi.json`);
