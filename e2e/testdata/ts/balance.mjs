// Reads an account's balance through a client made as a web developer
// makes one from the gateway's OpenAPI document: openapi-typescript gave its
// types (api.d.ts, checked by the test), openapi-fetch makes the calls and
// parses the answers with JSON.parse. Prints one JSON line: the total as
// the client read it, and its JavaScript type; then the same with
// Prefer: bigint=number, where JSON.parse gets a number.
//
//	node balance.mjs <gateway URL> <address> <assetId>
import createClient from "openapi-fetch";

const [baseUrl, address, assetId] = process.argv.slice(2);
const client = createClient({ baseUrl });
const body = { chainId: 2, assetChainId: 2, assetId: Number(assetId), address };
const exact = await client.POST("/rpc/getBalance", { body });
const numbers = await client.POST("/rpc/getBalance", { body, headers: { Prefer: "bigint=number" } });
console.log(JSON.stringify({
  total: exact.data?.total,
  type: typeof exact.data?.total,
  error: exact.error,
  numberTotal: String(numbers.data?.total),
  numberType: typeof numbers.data?.total,
}));
