FROM rockylinux:9
RUN dnf -y install httpd mod_ssl && dnf clean all
RUN yum -y install php
COPY index.php /var/www/html/
EXPOSE 80
ENTRYPOINT ["/usr/sbin/httpd", "-DFOREGROUND"]
