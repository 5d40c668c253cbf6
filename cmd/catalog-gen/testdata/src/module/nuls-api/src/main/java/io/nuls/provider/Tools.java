package io.nuls.provider;

public class Tools {
    Object balance() {
        return callRpc(ModuleE.LG.abbr, "getBalance", params, res -> res);
    }
}
