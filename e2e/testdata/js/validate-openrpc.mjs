// Validates an OpenRPC document with the OpenRPC project's own validator
// (e2e/openapi_test.go). Prints "valid <openrpc version> <methods>" or
// the errors, and exits non-zero on them.
import { readFileSync } from "node:fs";
import { validateOpenRPCDocument } from "@open-rpc/schema-utils-js";

const doc = JSON.parse(readFileSync(process.argv[2], "utf8"));
const result = validateOpenRPCDocument(doc);
if (result !== true) {
  console.log(JSON.stringify(result, null, 1).slice(0, 3000));
  process.exit(1);
}
console.log(`valid ${doc.openrpc} ${doc.methods.length}`);
