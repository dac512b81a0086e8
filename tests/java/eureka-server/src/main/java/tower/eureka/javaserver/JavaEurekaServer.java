package tower.eureka.javaserver;

import org.springframework.boot.SpringApplication;
import org.springframework.boot.autoconfigure.SpringBootApplication;
import org.springframework.cloud.netflix.eureka.server.EnableEurekaServer;

/** The JVM registry our tests run against: a plain Spring Cloud Netflix Eureka server. */
@SpringBootApplication
@EnableEurekaServer
public class JavaEurekaServer {
    public static void main(String[] args) {
        SpringApplication.run(JavaEurekaServer.class, args);
    }
}
