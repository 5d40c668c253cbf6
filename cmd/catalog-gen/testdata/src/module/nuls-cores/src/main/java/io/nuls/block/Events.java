package io.nuls.block;

import io.nuls.ledger.constant.CmdConstant;

public class Events {
    void raise(Response r) {
        ConnectManager.eventTrigger(CmdConstant.CMD_BALANCE, r);
    }
}
