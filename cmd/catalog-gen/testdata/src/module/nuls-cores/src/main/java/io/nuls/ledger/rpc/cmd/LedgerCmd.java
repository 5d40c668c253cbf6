package io.nuls.ledger.rpc.cmd;

import io.nuls.core.rpc.model.*;
import io.nuls.ledger.constant.CmdConstant;
import io.nuls.ledger.model.Holding;

import java.math.BigInteger;
import java.util.List;
import java.util.Map;

/**
 * A fixture written for the generator's tests.
 */
@Component
@NulsCoresCmd(module = ModuleE.LG)
public class LedgerCmd extends BaseCmd {
    private static final String LOCAL = "lg_local";

    @CmdAnnotation(cmd = CmdConstant.CMD_BALANCE, version = 1.0, description = "not copied")
    @Parameters(value = {
            @Parameter(parameterName = "chainId", requestType = @TypeDescriptor(value = int.class), parameterValidRange = "[1-65535]", parameterDes = "not copied"),
            @Parameter(parameterName = "address", requestType = @TypeDescriptor(value = String.class), parameterValidRegExp = "^[a-zA-Z0-9]+$")
    })
    @ResponseData(name = "result", responseType = @TypeDescriptor(value = Map.class, mapKeys = {
            @Key(name = "total", valueType = BigInteger.class),
            @Key(name = "list", valueType = List.class, valueElement = Holding.class),
            @Key(name = "note")
    }))
    public Response getBalance(Map params) {
        if (params.get("x") != null) { return failed("{not an annotation}"); }
        return success(new java.util.HashMap<>());
    }

    @CmdAnnotation(cmd = CmdConstant.CMD_SEND, version = 2.0, scope = Constants.ADMIN, minPeriod = 5, description = "x")
    @Parameter(parameterName = "inputs", requestType = @TypeDescriptor(value = List.class, collectionElement = Input.class))
    @Parameter(parameterName = "remark", parameterType = "String", canNull = true)
    @ResponseData(responseType = @TypeDescriptor(value = Holding.class))
    public Response send(Map params) {
        return success();
    }

    @CmdAnnotation(cmd = LOCAL, version = 1.0, minEvent = 1, description = "x")
    @Parameter(parameterName = "password")
    public Response local(Map params) {
        return success();
    }

    public static class Input {
        private String address;
        private String password;
    }
}
