FROM eclipse-temurin:21-jdk AS build
WORKDIR /src
COPY mvnw pom.xml ./
COPY .mvn .mvn
RUN --mount=type=cache,target=/root/.m2 ./mvnw -B dependency:go-offline
COPY src src
RUN --mount=type=cache,target=/root/.m2 ./mvnw -B package -DskipTests \
 && java -Djarmode=layertools -jar target/*.jar extract --destination /layers

FROM eclipse-temurin:21-jre
WORKDIR /app
COPY --from=build /layers/dependencies/ ./
COPY --from=build /layers/spring-boot-loader/ ./
COPY --from=build /layers/snapshot-dependencies/ ./
COPY --from=build /layers/application/ ./
RUN useradd -r -u 1001 spring
USER spring
ENTRYPOINT ["java", "org.springframework.boot.loader.launch.JarLauncher"]
