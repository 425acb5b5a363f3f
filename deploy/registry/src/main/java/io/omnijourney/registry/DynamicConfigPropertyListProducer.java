package io.omnijourney.registry;

import io.apicurio.common.apps.config.DynamicConfigPropertyList;
import java.util.List;
import javax.enterprise.inject.Produces;
import javax.inject.Singleton;

/**
 * Stands in for Apicurio's "config-index" build extension, whose deployment half is not served
 * by the package registry this project may use. That extension only lists, at build time, which
 * settings an admin may change at run time; an empty list turns that admin feature off and leaves
 * every setting readable from normal configuration, which is all a local registry needs.
 */
public class DynamicConfigPropertyListProducer {

    @Produces
    @Singleton
    DynamicConfigPropertyList dynamicConfigProperties() {
        return new DynamicConfigPropertyList(List.of());
    }
}
