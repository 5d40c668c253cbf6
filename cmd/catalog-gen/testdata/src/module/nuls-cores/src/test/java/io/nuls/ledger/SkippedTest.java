package io.nuls.ledger;

public class SkippedTest {
    @CmdAnnotation(cmd = "testOnly", version = 1.0, description = "x")
    public Response t(Map p) { return null; }
}
