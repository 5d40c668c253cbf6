package io.nuls.core.rpc.model;

public class Constants {
    public static final String PUBLIC = "public";
    public static final String ADMIN = "admin";
}
