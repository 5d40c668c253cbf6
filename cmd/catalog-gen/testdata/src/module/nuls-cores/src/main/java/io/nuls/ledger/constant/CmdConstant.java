package io.nuls.ledger.constant;

public interface CmdConstant {
    String CMD_BALANCE = "getBalance";
    // a comment with "quotes" and a = sign
    String CMD_PREFIX = "lg_";
    String CMD_SEND = CMD_PREFIX + "send";
}
