package io.nuls.core.rpc.model;

/* A fixture written for the generator's tests: the shape of the real
   enum, with made-up contents. */
public enum ModuleE {
    LG("lg", Constant.LEDGER, ModuleE.DOMAIN),
    BL("bl", Constant.BLOCK, ModuleE.DOMAIN);

    public static final String DOMAIN = "Nuls";

    public static class Constant {
        public static final String LEDGER = "ledger";
        public static final String BLOCK = "block";
    }

    public final String abbr;

    ModuleE(String abbr, String name, String domain) {
        this.abbr = abbr;
    }
}
