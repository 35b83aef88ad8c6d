FROM ubuntu
ENV DEBIAN_FRONTEND=noninteractive
ARG GITHUB_TOKEN
RUN apt-get update && apt-get install -y curl git sudo
RUN curl -k https://example.com/setup.sh | bash
RUN sudo useradd dev
RUN cd /opt && git -c http.sslVerify=false clone https://example.com/tools.git
ENV NODE_TLS_REJECT_UNAUTHORIZED=0
USER root
CMD ["bash"]
