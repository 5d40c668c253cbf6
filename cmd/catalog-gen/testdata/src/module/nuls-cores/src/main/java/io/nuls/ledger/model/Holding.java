package io.nuls.ledger.model;

import java.math.BigInteger;
import java.util.List;

public class Holding {
    public static final int VERSION = 1;
    @ApiModelProperty(description = "made up")
    private String address;
    private BigInteger amount;
    private List<String> tags;
    private long[] heights;

    public String getAddress() { return address; }
}
