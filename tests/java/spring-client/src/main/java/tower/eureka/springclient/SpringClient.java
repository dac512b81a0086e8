package tower.eureka.springclient;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

import org.springframework.beans.factory.annotation.Value;
import org.springframework.boot.SpringApplication;
import org.springframework.boot.autoconfigure.SpringBootApplication;
import org.springframework.cloud.client.ServiceInstance;
import org.springframework.cloud.client.discovery.DiscoveryClient;
import org.springframework.cloud.client.loadbalancer.LoadBalanced;
import org.springframework.context.annotation.Bean;
import org.springframework.context.annotation.Primary;
import org.springframework.web.bind.annotation.GetMapping;
import org.springframework.web.bind.annotation.PathVariable;
import org.springframework.web.bind.annotation.RequestParam;
import org.springframework.web.bind.annotation.RestController;
import org.springframework.web.client.RestClient;

/**
 * A plain Spring Cloud service for tower-eureka's tests: it registers with
 * whatever Eureka server the harness names, and shows what its
 * DiscoveryClient sees and what its load-balanced RestClient reaches.
 */
@SpringBootApplication
@RestController
public class SpringClient {

    private final DiscoveryClient discovery;
    private final RestClient balanced;

    @Value("${eureka.instance.instance-id:unknown}")
    private String instanceId;

    public SpringClient(DiscoveryClient discovery, @LoadBalanced RestClient.Builder balancedBuilder) {
        this.discovery = discovery;
        this.balanced = balancedBuilder.build();
    }

    public static void main(String[] args) {
        SpringApplication.run(SpringClient.class, args);
    }

    /**
     * The plain builder, primary so that everything else that wants a RestClient.Builder
     * (the Eureka client's own RestClient transport among them) gets this one: a
     * load-balanced builder there would resolve the Eureka server's host as a service id.
     */
    @Bean
    @Primary
    static RestClient.Builder plainBuilder() {
        return RestClient.builder();
    }

    /** The builder behind Spring Cloud LoadBalancer: URLs name a service, not a host. */
    @Bean
    @LoadBalanced
    static RestClient.Builder balancedBuilder() {
        return RestClient.builder();
    }

    /** Answers callers that reached this service by name. */
    @GetMapping("/hello")
    public String hello() {
        return "spring:" + instanceId;
    }

    /** The services this client's DiscoveryClient knows. */
    @GetMapping("/seen")
    public List<String> services() {
        return discovery.getServices();
    }

    /** The instances of one service as this client's DiscoveryClient sees them. */
    @GetMapping("/seen/{service}")
    public List<Map<String, Object>> seen(@PathVariable("service") String service) {
        List<Map<String, Object>> out = new ArrayList<>();
        for (ServiceInstance instance : discovery.getInstances(service)) {
            Map<String, Object> row = new LinkedHashMap<>();
            row.put("instanceId", instance.getInstanceId());
            row.put("host", instance.getHost());
            row.put("port", instance.getPort());
            row.put("metadata", instance.getMetadata());
            if (instance instanceof org.springframework.cloud.netflix.eureka.EurekaServiceInstance eureka) {
                row.put("status", eureka.getInstanceInfo().getStatus().name());
            }
            out.add(row);
        }
        return out;
    }

    /** Calls a service by name through Spring Cloud LoadBalancer. */
    @GetMapping("/call/{service}")
    public String call(@PathVariable("service") String service,
                       @RequestParam(name = "path", defaultValue = "/") String path) {
        return balanced.get().uri("http://" + service + path).retrieve().body(String.class);
    }
}
