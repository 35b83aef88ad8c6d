FROM alpine:3.19
RUN apk update && apk add nginx
COPY nginx.conf /etc/nginx/nginx.conf
COPY site/ /var/www/html/
RUN adduser -D -H -u 1000 web \
 && chown -R web /var/www/html /var/lib/nginx /var/log/nginx
USER web
EXPOSE 8080
CMD ["nginx", "-g", "daemon off;"]
