FROM gradle:8.5-jdk17
WORKDIR /home/gradle/project
COPY --chown=gradle:gradle . .
RUN gradle build --no-daemon
EXPOSE 8080
CMD java -jar build/libs/app.jar
