// Runs NULS's JavaScript SDK (nuls-sdk-js), unchanged, against a gateway's
// nuls-api listener, as its own transfer example does
// (src/test/transfer.js): the balance and nonce with getAccountBalance, the
// transaction assembled and signed by the SDK, then validateTx and
// broadcastTx. Prints one JSON line of what the SDK got.
//
//	node transfer.js new                      → {"address", "pri", "pub"}
//	node transfer.js send <jsonrpc URL> <pri> <pub> <from> <to> <amount>
//	node transfer.js balance <jsonrpc URL> <address> <assetId> → getAccountBalance's result
//
// balance asks with the SDK's own JSON-RPC client (src/test/api/https.js),
// as its util.getNulsBalance does for the chain's own asset.
const nuls = require('nuls-sdk-js/src/index'); // what its own examples and util require
const util = require('nuls-sdk-js/src/test/api/util');
const sdkHTTP = require('nuls-sdk-js/src/test/api/https.js');

async function main() {
  const [cmd, url, pri, pub, from, to, amount] = process.argv.slice(2);
  if (cmd === 'new') {
    const a = nuls.newAddress(2, '', 'tNULS');
    console.log(JSON.stringify({address: a.address, pri: a.pri, pub: a.pub}));
    return;
  }
  nuls.customnet(2, url, 5000);
  if (cmd === 'balance') {
    const [address, assetId] = [pri, pub];
    // post puts the chain ID first: chainId, assetChainId, assetId, address.
    const r = await sdkHTTP.post('/', 'getAccountBalance', [2, Number(assetId), address]);
    console.log(JSON.stringify(r.result !== undefined ? r.result : r));
    return;
  }
  const balance = await util.getNulsBalance(from);
  const transferInfo = {fromAddress: from, toAddress: to, assetsChainId: 2, assetsId: 1, amount: Number(amount), fee: 100000};
  const io = await util.inputsOrOutputs(transferInfo, balance, 2);
  if (!io.success) {
    console.log(JSON.stringify({balance, error: io.data}));
    return;
  }
  const assembled = await nuls.transactionAssemble(io.data.inputs, io.data.outputs, 'from nuls-sdk-js', 2);
  const txHex = await nuls.transactionSerialize(pri, pub, assembled);
  const validated = await util.validateTx(txHex);
  const broadcast = validated.success ? await util.broadcastTx(txHex) : null;
  console.log(JSON.stringify({balance, hash: assembled.getHash().toString('hex'), validated, broadcast}));
}

main().catch((e) => {
  console.log(JSON.stringify({exception: String(e && e.stack || e)}));
  process.exitCode = 1;
});
