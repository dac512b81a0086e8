package tower.eureka.springclient;

import org.springframework.boot.autoconfigure.condition.ConditionalOnClass;
import org.springframework.context.annotation.Bean;
import org.springframework.context.annotation.Configuration;

import com.netflix.discovery.AbstractDiscoveryClientOptionalArgs;
import com.netflix.discovery.shared.transport.jersey.TransportClientFactories;

/**
 * The Jersey 3 transport, when Netflix's eureka-client-jersey3 is on the classpath (the
 * spring-client-jersey build). Spring Cloud Netflix 5 switches its RestClient transport off
 * when Jersey is present but defines the Jersey beans only in the Eureka server's
 * auto-configuration (EurekaServerJerseyClientAutoConfiguration); these are the same two
 * beans, made by reflection so that this source also compiles without Jersey.
 */
@Configuration(proxyBeanMethods = false)
@ConditionalOnClass(name = JerseyTransport.FACTORIES)
class JerseyTransport {

    static final String FACTORIES =
            "com.netflix.discovery.shared.transport.jersey3.Jersey3TransportClientFactories";

    @Bean
    static TransportClientFactories<?> jersey3TransportClientFactories() throws ReflectiveOperationException {
        return (TransportClientFactories<?>) Class.forName(FACTORIES).getMethod("getInstance").invoke(null);
    }

    @Bean
    static AbstractDiscoveryClientOptionalArgs<?> jersey3DiscoveryClientOptionalArgs()
            throws ReflectiveOperationException {
        return (AbstractDiscoveryClientOptionalArgs<?>) Class
                .forName("com.netflix.discovery.Jersey3DiscoveryClientOptionalArgs")
                .getConstructor()
                .newInstance();
    }
}
